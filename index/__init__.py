"""askdocs engine: load documents, chunk, embed, store in FAISS, retrieve cited answers.

No Discord and no settings imports here: everything takes plain arguments.
"""
