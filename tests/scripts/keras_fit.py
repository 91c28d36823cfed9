"""An untouched Keras 3 script (torch backend): a tiny model on synthetic data with a
validation split; writes Keras' own record (History.history) to history.json."""

import json
import os
import sys

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
import numpy as np  # noqa: E402

out = sys.argv[1] if len(sys.argv) > 1 else "history.json"
keras.utils.set_random_seed(0)
x = np.random.default_rng(0).normal(size=(80, 4)).astype("float32")
y = (x[:, 0] > 0).astype("float32")
model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu"),
                          keras.layers.Dense(1, activation="sigmoid")])
model.compile(optimizer="sgd", loss="binary_crossentropy", metrics=["accuracy"])
history = model.fit(x, y, epochs=3, batch_size=8, validation_split=0.2, verbose=2)
with open(out, "w") as dump:
    json.dump(history.history, dump)
