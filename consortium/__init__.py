"""What a consortium needs around its nodes: keys, genesis, networks, the client library, CLIs."""
