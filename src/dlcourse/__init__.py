"""dlcourse: a runnable deep-learning course in PyTorch.

Lessons live in subpackages (``dlcourse.embeddings``, ``dlcourse.lm``, ``dlcourse.classify``,
``dlcourse.vision``, ``dlcourse.som``) over a small core (``dlcourse.engine``, ``dlcourse.data``,
``dlcourse.text``). Importing this package is cheap: nothing heavy is imported here.
"""

__version__ = "0.2.0"
