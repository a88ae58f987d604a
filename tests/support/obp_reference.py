"""Reference values of Open Bandit Pipeline's IPS, SNIPS and DR on the arrays of
:mod:`support.offpolicy_cases`, hard-coded in ``tests/explain/test_offpolicy.py``.

obp (0.4.1) pins torch, which would add ~2 GB of CUDA wheels and change the shared venv's
setuptools, so it is not a dev dependency: the numbers were computed once in a scratch venv:

    python3 -m venv /tmp/obp-venv
    /tmp/obp-venv/bin/pip install --no-deps obp==0.4.1
    /tmp/obp-venv/bin/pip install numpy scipy scikit-learn pandas matplotlib seaborn tqdm \
        pyyaml mypy-extensions
    /tmp/obp-venv/bin/python tests/support/obp_reference.py

obp's estimators module imports torch at load time but its numpy code path never calls it,
so this script registers an empty stand-in ``torch`` module (isinstance checks against its
``Tensor`` class are False, as they are for numpy arrays with the real torch).
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
import types
from pathlib import Path


class _Anything(type):
    """A class whose every attribute is another such class: ``torch.utils.data.DataLoader``
    resolves in annotations, ``nn.Module`` works as a base class."""

    def __getattr__(cls, name: str) -> object:
        if name.startswith("__"):
            raise AttributeError(name)
        return _Anything(name, (), {})


class _Stub(types.ModuleType):
    def __getattr__(self, name: str) -> object:
        if name.startswith("__"):
            raise AttributeError(name)
        return _Anything(name, (), {})


class _TorchFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, fullname, path, target=None):  # type: ignore[no-untyped-def]
        if fullname == "torch" or fullname.startswith("torch."):
            return importlib.machinery.ModuleSpec(fullname, self, is_package=True)
        return None

    def create_module(self, spec):  # type: ignore[no-untyped-def]
        m = _Stub(spec.name)
        m.__path__ = []  # type: ignore[attr-defined]
        return m

    def exec_module(self, module):  # type: ignore[no-untyped-def]
        return None


def main() -> None:
    sys.meta_path.insert(0, _TorchFinder())
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import obp
    from obp.ope import DoublyRobust as DR
    from obp.ope import InverseProbabilityWeighting as IPW
    from obp.ope import SelfNormalizedInverseProbabilityWeighting as SNIPW
    from offpolicy_cases import CASES, bandit_case

    print(f"obp {obp.__version__}")
    for kind in CASES:
        c = bandit_case(kind)
        args = {"reward": c["reward"], "action": c["action"], "pscore": c["pscore"],
                "action_dist": c["action_dist"]}
        ips = IPW().estimate_policy_value(**args)
        snips = SNIPW().estimate_policy_value(**args)
        dr = DR().estimate_policy_value(**args, estimated_rewards_by_reg_model=c[
            "estimated_rewards"])
        print(f'"{kind}": {{"ips": {ips!r}, "snips": {snips!r}, "dr": {dr!r}}},')


if __name__ == "__main__":
    main()
