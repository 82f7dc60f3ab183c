"""What every command that writes an output folder shares, one floor below the recipes, ``evaluate``
and ``finetune``: the folder (:mod:`.folder`: claim, resume, refuse), the records and their
Markdown tables (:mod:`.records`), and the figures (:mod:`.figures`)."""
