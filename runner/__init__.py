"""The lab's orchestration library; `runner.cli` is its thin command line (`bench`)."""
