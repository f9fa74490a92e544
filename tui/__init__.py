"""The terminal UI of `qa`: a Textual app over `qa.pipeline.Pipeline`.

Importing this package is cheap: Textual is imported by `tui.app`, and the pipeline (with
its model and index) only inside the app's background workers.
"""
