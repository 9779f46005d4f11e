"""`make checkov STACK=…`: Checkov's AWS checks on the offline plan, every exception written down.

Checkov cannot read Pulumi, but pulumi-aws is bridged from the Terraform AWS provider, so the
offline plan converts almost one to one into the Terraform plan JSON that Checkov's
`terraform_plan` framework reads (`terraform_plan.py`). Checkov runs in its own environment
(`pyproject.toml` and `uv.lock` beside this file: its pins conflict with the program's), as a
subprocess; its failures are matched against the committed skips (`skips.yaml`, `skips.py`) and
printed grouped by resource (`__main__.py`).
"""
