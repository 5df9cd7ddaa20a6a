"""Values Metaflow's runtime stores in every task but flowassets derives (``_success``,
``_task_ok``, ``_foreach_stack``): pickled here under the hash of their bytes, so the artifact
dicts can name them like any stored blob and ``FlowassetsStorage`` hands them out.

Kept per process, which is where Metaflow's client asks for them: a client object reloaded in
another process asks the metadata provider again, which keeps them again.
"""

from __future__ import annotations

import hashlib
import pickle
from collections import OrderedDict
from typing import Any

_LIMIT = 100_000  # a few dozen bytes each
_blobs: "OrderedDict[str, bytes]" = OrderedDict()


def keep(value: Any) -> str:
    data = pickle.dumps(value, protocol=4)
    sha = hashlib.sha256(data).hexdigest()
    _blobs[sha] = data
    _blobs.move_to_end(sha)
    while len(_blobs) > _LIMIT:
        _blobs.popitem(last=False)
    return sha


def get(sha: str) -> bytes | None:
    return _blobs.get(sha)
