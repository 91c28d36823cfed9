"""Word when a run or sweep ends: messages through apprise URLs, sent by the run wrapper."""
