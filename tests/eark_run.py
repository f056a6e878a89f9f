"""Run eark-validator 1.1.3 on a package, with its vocabularies served locally.

Run with the validator's own interpreter (.venv-eark, scripts/setup-eark.sh):

    .venv-eark/bin/python tests/eark_run.py PACKAGE_FOLDER VOCABULARY_FOLDER

On import the validator reads four vocabularies from https://earkcsip.dilcis.eu/
with ``urllib.request.urlopen``; an opener installed here answers those URLs
from VOCABULARY_FOLDER (tests/eark-vocabularies) and refuses every other URL,
so the run needs no network. Prints the validator's JSON report.
"""

import io
import sys
import urllib.request
from email.message import Message
from pathlib import Path

VOCABULARY_HOST = "https://earkcsip.dilcis.eu/schema/"


class LocalVocabularies(urllib.request.BaseHandler):
    handler_order = 100  # before the default HTTP(S) handlers, which would go to the network
    def __init__(self, folder: Path):
        self.folder = folder

    def https_open(self, req):
        url = req.get_full_url()
        if not url.startswith(VOCABULARY_HOST):
            raise urllib.error.URLError(f"no network in the tests: {url}")
        data = (self.folder / url[len(VOCABULARY_HOST):]).read_bytes()
        headers = Message()
        headers["Content-Type"] = "application/xml"
        response = urllib.response.addinfourl(io.BytesIO(data), headers, url, 200)
        response.msg = "OK"
        return response

    http_open = https_open


def main() -> int:
    package, vocabularies = Path(sys.argv[1]), Path(sys.argv[2])
    urllib.request.install_opener(urllib.request.build_opener(LocalVocabularies(vocabularies)))
    from eark_validator.packages import PackageValidator
    from eark_validator.specifications.specification import SpecificationVersion

    report = PackageValidator(package, SpecificationVersion.V2_1_0).validation_report
    print(report.model_dump_json())
    return 0


if __name__ == "__main__":
    sys.exit(main())
