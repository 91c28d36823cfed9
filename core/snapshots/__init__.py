"""The code a run executes, copied at queue time, and the environment it ran in.

`runs/.snapshots/<id>/` holds one copy per content (`files/` and `snapshot.json`);
every run queued from that content names the id in its run.json and executes
from the copy, so editing the project after queueing changes nothing queued.
"""
