"""What a config builds: named, JSON-safe run configs (``configs``) and the torch objects they
describe: data sets (``data``: digits, splits, loaders; ``image_data``: torchvision sets and
image folders; ``data_catalogue``: what exists), models (``models``), optimizers (``optim``),
and users' own factories (``plugins``).

May import: ``clr_core.engine`` (the device), ``clr_core.suggest``, ``clr_core.schedules``,
``validation``, ``jsonsafe``, ``errors``. Not ``clr_core.runs``: the two are independent.

Nothing is re-exported here: import names from their modules. The public one is ``data``
(`load_dataset`, the data sets the app offers, for a script); the rest builds the app's jobs.
"""

__all__ = ["data"]
