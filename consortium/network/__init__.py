"""Running a consortium: keys, CA and certificates, genesis, node configs, `hubao net`."""
