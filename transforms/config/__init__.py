"""What the user configures, each checked when it is loaded: ICON options (`options`, with the
`[custom-states]` lists in `custom_states`), the configuration snapshot (`snapshot`) or a folder
of them, the configuration history (`history`), the attached-data specification (`adata_spec`), and
the versions of the rules they make (`versions`)."""

from transforms.exports import lazy_exports

__all__, __getattr__ = lazy_exports(__name__, {
    "adata_spec": ["HORIZONTAL", "AdataSpec", "SpecError", "load_spec", "spec_from_options"],
    "custom_states": ["CustomSettings"],
    "errors": ["OptionsError"],
    "history": ["ConfigHistory", "load_history"],
    "options": ["GccOptions", "GlsOptions", "IconOptions", "describe", "load_options"],
    "snapshot": ["ConfigError", "ConfigSnapshot", "load_snapshot"],
    "versions": ["RuleVersions"],
})
