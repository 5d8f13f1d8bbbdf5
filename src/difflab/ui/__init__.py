"""`difflab ui`: a local web page (Gradio) that runs difflab's commands and shows their run folders.

A thin client of the library: each tab builds the command line the CLI would take and runs it
through the CLI's own parser and `run` function, so the page writes the very run folder the
command writes. Needs the optional extra: ``pip install "difflab[ui]"``.
"""
