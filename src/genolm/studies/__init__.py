"""One package per study: its own logic (selection, dataset builders, analysis) and its default specs.
A study imports the shared layers; nothing shared imports a study."""
