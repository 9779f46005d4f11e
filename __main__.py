"""webstack: one `pulumi up` per environment. See components/stack.py for the composition."""

from components.stack import main

main()
