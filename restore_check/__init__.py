"""The restore-test validation Lambda: proves that a database restored by AWS Backup works.

`handler.py` is the Lambda entry (its docstring lists its environment and the event it takes);
`schema.py` holds what is compared, the database side of the verdict.
"""
