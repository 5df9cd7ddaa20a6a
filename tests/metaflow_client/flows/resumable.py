"""An unchanged Metaflow flow whose end fails while MFCLIENT_FAIL_END is set: run, then resume."""

import os

from metaflow import FlowSpec, step


class MFClientResumableFlow(FlowSpec):
    @step
    def start(self):
        self.value = 7
        print("start ran")
        self.next(self.end)

    @step
    def end(self):
        if os.environ.get("MFCLIENT_FAIL_END"):
            raise RuntimeError("asked to fail")
        self.doubled = self.value * 2


if __name__ == "__main__":
    MFClientResumableFlow()
