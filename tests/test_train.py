"""The Hydra training pipeline: configs, TensorBoard KPIs, seeds, checkpoints and resume."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from hydra import compose, initialize_config_module
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from ecocontrol.agents import AgentController, load_agent
from ecocontrol.config import ConfigError
from ecocontrol.evaluation import run_episode
from ecocontrol.train import last_checkpoint, train

TINY = (
    "total_timesteps=512",
    "n_envs=2",
    "agent.n_steps=128",
    "agent.batch_size=64",
    "agent.n_epochs=2",
    "eval_every=256",
    "eval_episodes=1",
    "checkpoint_every=256",
    "progress_bar=false",
)


def _cfg(*overrides):
    with initialize_config_module("ecocontrol.configs", version_base=None):
        return compose("train", overrides=list(overrides))


def _params(run_dir: Path) -> list[np.ndarray]:
    model, _ = load_agent(run_dir, which="final")
    return [p.detach().numpy().copy() for p in model.policy.parameters()]


def test_tiny_run_writes_kpis_to_tensorboard_and_the_same_seed_reproduces(tmp_path):
    torch.set_num_threads(1)
    a = train(_cfg(*TINY, f"run_dir={tmp_path / 'a'}"))
    for name in ("model.zip", "vecnormalize.pkl", "config.yaml", "best/best_model.zip"):
        assert (a / name).stat().st_size > 0, name
    (event,) = (a / "tb").glob("PPO_1/events.out.tfevents.*")
    acc = EventAccumulator(str(event))
    acc.Reload()
    tags = set(acc.Tags()["scalars"])
    for tag in ("kpi/cost_total", "kpi/cost_carbon", "kpi/co2_grid", "kpi/co2_total"):
        assert tag in tags, tag
    assert any(t.startswith("kpi/viol_") for t in tags)
    assert "eval/mean_reward" in tags
    b = train(_cfg(*TINY, f"run_dir={tmp_path / 'b'}"))
    for pa, pb in zip(_params(a), _params(b), strict=True):
        np.testing.assert_array_equal(pa, pb)
    c = train(_cfg(*TINY, "seed=1", f"run_dir={tmp_path / 'c'}"))
    assert any(not np.array_equal(x, y) for x, y in zip(_params(a), _params(c), strict=True))
    # The trained agent runs as a controller through the one evaluation loop.
    from ecocontrol.config import build_env

    env = build_env(_cfg("env=park").env)
    res = run_episode(env, AgentController(env, a), seed=0, window=0)
    assert res.n_steps == 168 and np.isfinite(res.cost["total"])


def test_a_killed_run_resumes_from_its_last_checkpoint(tmp_path):
    run_dir = tmp_path / "run"
    args = [
        sys.executable,
        "-m",
        "ecocontrol.cli",
        "train",
        *TINY,
        "total_timesteps=20000",
        "checkpoint_every=512",
        "eval_every=0",
        f"hydra.run.dir={run_dir}",
    ]
    proc = subprocess.Popen(args, cwd=tmp_path, start_new_session=True)
    # Wait for the first complete checkpoint (the run alone would go on to 20,000 steps).
    while last_checkpoint(run_dir, normalized=True) is None and proc.poll() is None:
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    found = last_checkpoint(run_dir, normalized=True)
    assert found is not None and found[1] < 20000
    assert not (run_dir / "model.zip").exists()
    steps_at_kill = found[1]
    # Resume in the same run directory with a smaller total so the test stays short.
    total = steps_at_kill + 1024
    cfg = _cfg(*TINY, f"total_timesteps={total}", "eval_every=0", "resume=true")
    cfg.run_dir = str(run_dir)
    train(cfg)
    model, _ = load_agent(run_dir, which="final")
    assert model.num_timesteps >= total
    assert len(list((run_dir / "tb").iterdir())) == 1  # the same TensorBoard run continues
    # Starting afresh over a run with checkpoints is refused (nothing is overwritten).
    cfg.resume = False
    with pytest.raises(ConfigError, match="resume"):
        train(cfg)


MALFORMED_TRAIN = [
    (("agent=dqn",), "agent"),  # DQN needs discrete actions; every plant's are continuous
    (("total_timesteps=-5",), "total_timesteps"),
    (("total_timesteps=0",), "total_timesteps"),
    (("n_envs=0",), "n_envs"),
    (("seed=-2",), "seed"),
    (("vec_env=threads",), "vec_env"),
    (("device=tpu",), "device"),
    (("eval_every=-1",), "eval_every"),
    (("normalize_obs=maybe",), "normalize_obs"),
    (("agent.learning_rate=-0.1",), "agent.learning_rate"),
    (("agent.gamma=1.5",), "agent.gamma"),
    (("agent.batch_size=0",), "agent.batch_size"),
    (("+agent.warp_factor=9",), "agent.warp_factor"),
    (("agent._target_=stable_baselines3.NoSuchAlgo",), "agent._target_"),
    (("agent._target_=collections.OrderedDict",), "agent._target_"),
    (("env.carbon_price_cny_per_t=-1",), "carbon_price_cny_per_t"),
    (("env=cement_kiln", "env.params.af_share_max=2"), "af_share_max"),
    (("+epochs=3",), "epochs"),
]


@pytest.mark.parametrize(("overrides", "key"), MALFORMED_TRAIN)
def test_malformed_training_configs_are_refused_before_work(overrides, key, tmp_path):
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        train(_cfg(*overrides, f"run_dir={tmp_path / 'run'}"))
    assert not (tmp_path / "run").exists()


def test_agent_controller_refuses_a_missing_model_and_a_foreign_plant(tmp_path):
    from ecocontrol.config import build_env

    env = build_env(_cfg("env=park").env)
    with pytest.raises(ConfigError, match="path"):
        AgentController(env, tmp_path / "nowhere")
    run_dir = train(_cfg(*TINY, "eval_every=0", "checkpoint_every=0", f"run_dir={tmp_path}/r"))
    kiln = build_env(_cfg("env=cement_kiln").env)
    with pytest.raises(ConfigError, match="path"):
        AgentController(kiln, run_dir)


def test_resume_keeps_the_validation_history_and_best_score(tmp_path):
    run_dir = tmp_path / "run"
    train(_cfg(*TINY, f"run_dir={run_dir}"))  # evaluations at 256 and 512 steps
    first = np.load(run_dir / "eval" / "evaluations.npz")["timesteps"].tolist()
    assert first == [256, 512]
    cfg = _cfg(*TINY, "total_timesteps=1024", "resume=true")
    cfg.run_dir = str(run_dir)
    train(cfg)
    evals = np.load(run_dir / "eval" / "evaluations.npz")
    assert evals["timesteps"].tolist() == [256, 512, 768, 1024]
    # The best model is the best over the whole history, not since the resume.
    from ecocontrol.train import best_validation_reward

    assert best_validation_reward(run_dir) == pytest.approx(evals["results"].mean(axis=1).max())
