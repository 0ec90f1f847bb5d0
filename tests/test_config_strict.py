"""Configuration is strict (issue 7): an unknown option, an invalid value, a bad attached-data
spec or a bad configuration snapshot fails when it is loaded, with a message naming the file,
the option and the allowed values; nothing falls back silently. `icon-etl load` checks all of it
before anything is parsed or written: one line, exit code 2, no traceback
(docs/reliability.md, "Configuration").

Already covered elsewhere and not repeated: `[gts] sst-options` (tests/test_gcc_options.py), the
`[custom-states]` options (tests/test_custom_states.py), repeated keys, bad history / source /
field values, unknown sections and malformed XML in the spec (tests/test_gud.py).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests import badinput as bi
from transforms.config import (
    ConfigError,
    OptionsError,
    SpecError,
    load_options,
    load_snapshot,
    load_spec,
    spec_from_options,
)

# -- options files ------------------------------------------------------------------------------

ROLES = "allowed (lowercase): all, cfg, gcc, gls, gud, lrm, gos, each optionally prefixed with ~"


@pytest.mark.parametrize("body, message", [
    ('[callconcentrators]\nrole = "all"', "unknown section [callconcentrators]; known: "
                                          "[callconcentrator], [filter-data], [gts], "
                                          "[custom-states], [icon-etl]"),
    ('[gts]\ndelivered_flag = 1', "unknown option 'delivered_flag' in [gts]; known: "
                                  "delivered-flag, lookup-queue-on-ringing"),
    ('[callconcentrator]\nrole = "CFG"', f"[callconcentrator] role has 'CFG'; {ROLES}"),
    ('[callconcentrator]\nrole = "gcc,lds"', f"[callconcentrator] role has 'lds'; {ROLES}"),
    ('[callconcentrator]\nrole = " , "', "[callconcentrator] role is empty; allowed: all, cfg"),
    ('[callconcentrator]\nadata-userdata-history = "sometimes"',
     "[callconcentrator] adata-userdata-history = 'sometimes': allowed values are 'none', "
     "'first', 'last', 'all'"),
    ('[callconcentrator]\ngls-acw-first = 2',
     "[callconcentrator] gls-acw-first = 2: allowed values are -1, 0, 1"),
    ('[callconcentrator]\nuse-dss-monitor = "1"', "[callconcentrator] use-dss-monitor = '1': "
                                                  "must be an integer"),
    ('[callconcentrator]\nuse-dss-monitor = true', "use-dss-monitor = True: must be an integer"),
    ('[icon-etl]\nmax-call-idle = -5', "[icon-etl] max-call-idle = -5: must be between 0 and "
                                       "604800"),
    ('[icon-etl]\nmax-quarantine-share-fail = 5', "[icon-etl] max-quarantine-share-fail = 5: "
                                                  "must be a share between 0 and 1"),
    ('[icon-etl]\nmax-quarantine-share-warn = true', "max-quarantine-share-warn = True: must be "
                                                     "a number"),
    ('[icon-etl]\nmax-quarantine-share-warn = 0.2\nmax-quarantine-share-fail = 0.1',
     "max-quarantine-share-warn = 0.2 is above max-quarantine-share-fail = 0.1"),
    ('[icon-etl]\nmask-keys = ["CardNumber"]', "[icon-etl] mask-keys = ['CardNumber']: must be a "
                                               "string"),
    ("gts = 1", "[gts] must be a table of options"),
    ('[gts]\ndelivered-flag = ', "not a readable TOML options file"),
])
def test_a_bad_options_file_names_the_file_the_option_and_the_allowed_values(tmp_path, body,
                                                                             message):
    path = tmp_path / "icon-options.toml"
    path.write_text(body + "\n")
    with pytest.raises(OptionsError) as err:
        load_options(path)
    assert str(err.value).startswith(f"{path}: ")
    assert message in str(err.value)


def test_a_missing_options_file_is_an_error_not_the_defaults(tmp_path):
    with pytest.raises(OptionsError, match="options file not found"):
        load_options(tmp_path / "nowhere.toml")


# -- the attached-data spec ---------------------------------------------------------------------

@pytest.mark.parametrize("text, message", [
    ("<options><public><key name='A'/></public></options>",
     "the root element is <options>; an attached-data specification is an <adata-spec> element"),
    ("<adata-spec><public><key name='A' hist='all'/></public></adata-spec>",
     "<key name='A'> in <public> has unknown attribute(s) hist; allowed: name, source, history"),
    ("<adata-spec><public><key history='all'/></public></adata-spec>",
     "a <key> in <public> lacks the 'name' attribute"),
    ("<adata-spec><secure><item name='PIN'/></secure></adata-spec>",
     "<secure> may only hold <key> elements, found <item>"),
    ("<adata-spec><call_cust><key name='A' field='cust-data-21'/></call_cust></adata-spec>",
     "field='cust-data-21'; allowed: cust-data-1 .. cust-data-20"),
])
def test_a_bad_spec_names_the_file_the_element_and_the_allowed_values(tmp_path, text, message):
    path = tmp_path / "ccon_adata_spec.xml"
    path.write_text(text)
    with pytest.raises(SpecError) as err:
        load_spec(path)
    assert str(err.value).startswith(f"{path}: ") and message in str(err.value)


def test_the_spec_named_by_the_options_cannot_leave_their_folder(tmp_path):
    (tmp_path / "secret.xml").write_text("<adata-spec/>")
    folder = tmp_path / "conf"
    folder.mkdir()
    options = folder / "icon-options.toml"
    options.write_text('[callconcentrator]\nadata-spec-name = "../secret.xml"\n')
    with pytest.raises(SpecError) as err:
        spec_from_options(load_options(options))
    assert str(err.value).startswith(f"{options}: [callconcentrator] adata-spec-name = "
                                     f"'../secret.xml': a relative name may not leave")
    # an absolute path is explicit, and allowed
    options.write_text(f'[callconcentrator]\nadata-spec-name = "{tmp_path / "secret.xml"}"\n')
    assert spec_from_options(load_options(options)).vertical == ()


# -- the configuration snapshot -----------------------------------------------------------------

GOOD = {"format": "icon-etl-config/1", "exported_at": "2026-03-09T00:00:00+00:00",
        "tenants": [{"dbid": 101, "name": "Resources"}],
        "switches": [{"dbid": 1, "name": "SW", "tenant_dbid": 101, "tserver": "TS_FAULT"}],
        "dns": [{"dbid": 1001, "number": "7001", "switch_dbid": 1, "type": "Extension"}],
        "places": [{"dbid": 5001, "name": "P", "dn_dbids": [1001]}],
        "ocs_servers": [{"dbid": 7001, "name": "OCS_FAULT"}],
        "campaigns": [{"dbid": 8101, "name": "Spring"}],
        "campaign_groups": [{"dbid": 8001, "name": "Spring@Sales", "campaign_dbid": 8101,
                             "ocs_dbid": 7001}],
        "calling_lists": [{"dbid": 8201, "name": "L", "campaign_dbid": 8101,
                           "field_dbids": [8301, 8302]}],
        "fields": [{"dbid": 8301, "name": "phone", "icon_attribute": 1},
                   {"dbid": 8302, "name": "pin", "icon_attribute": 2}]}


def snapshot(**change) -> dict:
    doc = json.loads(json.dumps(GOOD))
    for path, value in change.items():
        section, _, rest = path.partition("__")
        if not rest:
            doc[section] = value
        else:
            doc[section][0][rest] = value
    return doc


@pytest.mark.parametrize("doc, message", [
    ("{not json", "not a readable JSON configuration snapshot"),
    (snapshot(format="icon-etl-config/2"), "'format' must be 'icon-etl-config/1' (got "
                                           "'icon-etl-config/2')"),
    (snapshot(dns=[{"dbid": 1001, "switch_dbid": 1, "type": "Extension"}]), "dns[0] lacks number"),
    (snapshot(dns__type="Phone"), "dns[0] has type 'Phone'; allowed: Extension, ACDPosition"),
    (snapshot(dns__switch_dbid=9), "dns[0] names switch_dbid 9 which is not in 'switches'"),
    (snapshot(dns__dbid="1001"), "dns[0].dbid = '1001': must be an integer (DBID)"),
    (snapshot(switches__tserver=7), "switches[0].tserver = 7: must be a string"),
    (snapshot(places__dn_dbids="1001"), "places[0].dn_dbids = '1001': must be a list of integers"),
    (snapshot(tenants=[{"dbid": 101, "name": "A"}, {"dbid": 101, "name": "B"}]),
     "tenants[1] repeats dbid 101"),
    (snapshot(dns=["7001"]), "dns[0] must be an object"),
    (snapshot(exported_at="yesterday"), "'exported_at' = 'yesterday': must be an ISO 8601 time"),
    (snapshot(fields__icon_attribute=3), "fields[0].icon_attribute = 3: must be 0, 1 (stored) or "
                                         "2 (stored as secure)"),
    (snapshot(campaign_groups__campaign_dbid=9), "campaign_groups[0].campaign_dbid names "
                                                 "campaigns dbid 9, which is not in 'campaigns'"),
    (snapshot(calling_lists__field_dbids=[8301, 1]), "calling_lists[0].field_dbids names fields "
                                                     "dbid 1, which is not in 'fields'"),
    (snapshot(campaigns=[{"dbid": 8101}]), "campaigns[0] lacks name"),
])
def test_a_bad_snapshot_names_the_file_the_item_and_the_field(tmp_path, doc, message):
    path = tmp_path / "config.json"
    path.write_text(doc if isinstance(doc, str) else json.dumps(doc))
    with pytest.raises(ConfigError) as err:
        load_snapshot(path)
    assert str(err.value).startswith(f"{path}: ") and message in str(err.value)


def test_the_good_snapshot_loads():
    config = load_snapshot_dict(GOOD)
    assert config.switches()["app"].to_list() == ["TS_FAULT"]
    assert config.ocs_ids() == {"OCS_FAULT": 7001}
    assert config.list_fields().rows() == [(8201, "phone", 8301, False), (8201, "pin", 8302, True)]
    assert config.secure_fields() == {"pin"}


def load_snapshot_dict(doc: dict):
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "config.json"
        path.write_text(json.dumps(doc))
        return load_snapshot(path)


# -- through icon-etl load ----------------------------------------------------------------------

def setup_folder(tmp_path: Path) -> Path:
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / bi.segment_name("TS_FAULT")).write_text(
        bi.head("TS_FAULT") + bi.call(bi.Seq(), "TS_FAULT", 1, "9401", 300))
    return logs


CLI_CASES = {
    "role": ("options", '[callconcentrator]\nrole = "CFG"\n',
             f"[callconcentrator] role has 'CFG'; {ROLES}"),
    "history": ("options", '[callconcentrator]\nadata-userdata-history = "sometimes"\n',
                "adata-userdata-history = 'sometimes': allowed values are 'none', 'first', "
                "'last', 'all'"),
    "unknown": ("options", "[icon-etl]\nmask-key = 'PIN'\n",
                "unknown option 'mask-key' in [icon-etl]; known: max-quarantine-share-warn, "
                "max-quarantine-share-fail, mask-keys, "),
    "spec": ("spec", "<adata-spec><public><key name='A' history='sometimes'/></public>"
                     "</adata-spec>",
             "<key name='A'> in <public> has history='sometimes'; allowed: none, first, last, all"),
    "snapshot": ("config", json.dumps(snapshot(dns__type="Phone")),
                 "dns[0] has type 'Phone'; allowed: Extension"),
    "missing snapshot": ("config", None, "configuration snapshot not found (--config or "
                                         "ICON_CONFIG_SNAPSHOT)"),
}


@pytest.mark.parametrize("case", list(CLI_CASES))
def test_icon_etl_load_refuses_bad_configuration_with_exit_code_2(tmp_path, case):
    kind, text, message = CLI_CASES[case]
    logs, home, idb = setup_folder(tmp_path), tmp_path / "home", tmp_path / "idb.sqlite"
    args = ["load", "--logs", logs, "--idb", f"sqlite:///{idb}"]
    if kind == "options":
        path = tmp_path / "icon-options.toml"
        path.write_text(text)
        args += ["--options", path]
    elif kind == "spec":
        path = tmp_path / "ccon_adata_spec.xml"
        path.write_text(text)
        options = tmp_path / "icon-options.toml"
        options.write_text('[callconcentrator]\nadata-spec-name = "ccon_adata_spec.xml"\n')
        args += ["--options", options]
    else:
        path = tmp_path / "config.json"
        if text is not None:
            path.write_text(text)
        args += ["--config", path]
    result = bi.run_cli(args, home)
    assert result.rc == 2, result.stderr[-2000:]
    assert bi.no_traceback(result.stderr), result.stderr
    [line] = result.stderr.strip().splitlines()          # one line: file, option, allowed
    assert line.startswith(f"icon-etl load: {path}: ") and message in line, line
    # refused before anything was parsed or written
    assert not (home / "data").exists() and not idb.exists()


def test_a_replica_name_cannot_leave_the_log_folder(tmp_path):
    logs = setup_folder(tmp_path)
    (tmp_path / "elsewhere").mkdir()
    result = bi.run_cli(["load", "--logs", logs, "--idb", f"sqlite:///{tmp_path / 'idb.sqlite'}"],
                        tmp_path / "home", ICON_REPLICAS="a,../elsewhere")
    assert result.rc == 2 and bi.no_traceback(result.stderr)
    assert f"ICON_REPLICAS: '../elsewhere' is not a folder name inside the log folder {logs}" \
        in result.stderr
