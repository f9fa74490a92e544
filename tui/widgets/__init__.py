"""One widget per module; none of them knows about the pipeline, only about its values."""
