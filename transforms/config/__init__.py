"""What the user configures: ICON options (`options.load_options`), the configuration snapshot
(`snapshot.load_snapshot`) and the attached-data specification (`adata_spec`)."""
