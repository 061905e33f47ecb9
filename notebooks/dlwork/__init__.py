"""Support code for the practical deep-learning workbook (answer-free).

Conventions used everywhere in the workbook:

* Examples are columns. ``X`` has shape ``(n_x, m)``, ``Y`` has shape ``(1, m)``
  with values 0 or 1 (float64).
* ``layers_dims = [n0, n1, ..., nL]`` lists units per layer, input first.
  ``parameters`` holds ``"W1", "b1", ..., "WL", "bL"`` with ``Wl`` of shape
  ``(n_l, n_{l-1})`` and ``bl`` of shape ``(n_l, 1)``.
* The network is LINEAR -> RELU -> ... -> LINEAR -> SIGMOID: every hidden layer
  uses ReLU, the output layer a sigmoid.
* A forward *cache* is a dict with, for every layer ``l = 1..L``, the keys
  ``"Zl"`` (pre-activation), ``"Al"`` (activation as fed to the next layer),
  ``"Wl"`` and ``"bl"``. Dropout adds ``"Dl"``, the keep-mask of hidden layer
  ``l`` (shape of ``"Al"``; 1/True = kept, 0/False = dropped); ``"Al"`` is then
  the activation after the mask and the ``1 / keep_prob`` scaling.
* A *gradients* dict has ``"dWl"`` and ``"dbl"`` (shapes of ``"Wl"`` and
  ``"bl"``) for every layer; it may also carry ``"dZl"`` and ``"dAl"``.
* Randomness is explicit: every stochastic function takes a
  ``np.random.Generator`` called ``rng`` and never touches NumPy's global state.
"""
