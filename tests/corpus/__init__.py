"""The hostile-input corpus (issue #11): cases made by the project's own code, each with the
exact outcome it must produce, run through the engine, the CLI, the upload view, the API and
the intake. See ``model.py`` for what a case is and ``catalogue.py`` for the list."""
