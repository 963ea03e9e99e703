"""Representation drift: how far, and how coherently, training moved the model's representations.

For a fixed probe set (the context's problems, as chat prompts), the final-layer hidden states
(after the final norm), mean-pooled over each prompt's tokens, under the base and under each
trained model; the drift of a problem is ``d = h_trained - h_base``. The study found smaller,
more concentrated drift went with better cross-lingual transfer (RL vs SFT).

Statistics per run (n problems, drift vectors d_i, centroid d̄):

- ``mean_norm``: mean ||d_i||, how far representations moved;
- ``relative_norm``: mean ||d_i|| / ||h_base,i||, the same on a scale comparable across models;
- ``spread``: mean ||d_i - d̄||, the mean distance to the drift centroid (dispersion);
- ``total_variance``: trace of the covariance of the d_i = mean ||d_i - d̄||^2;
- ``coherence``: ||d̄|| / mean ||d_i||, 1 when every problem moved the same way, near 0 when the
  moves scatter.

The 2-D plot projects every run's drift vectors on one shared basis: the top two right singular
vectors of all runs' drift vectors stacked, *uncentered*, so the origin stays "no drift" (the
base) and runs given together are comparable on one scatter.
"""

from __future__ import annotations

import numpy as np

from harness.probe import ProbeContext


class DriftProbe:
    name = "drift"
    description = "Final-layer representation drift from the base model (norms, dispersion, shared-PCA scatter)."

    def run(self, context: ProbeContext) -> dict:
        from harness.plugins.probes import lm, plots

        if not context.base_model:
            return {"skipped": "drift compares a trained model with its base: give a base model (--base)"}
        runs = {context.label: context.model, **context.compare}
        problems = [p for lang in context.languages for p in context.problems.get(lang, [])]
        langs = [p["lang"] for p in problems]

        def hidden(path: str) -> np.ndarray:
            tokenizer, model = lm.load(path, context.cache)
            prompts = [lm.chat_prompt(tokenizer, p["question"], p["lang"]) for p in problems]
            return lm.pooled_hidden(tokenizer, model, prompts, context.batch_size)

        base = hidden(context.base_model)
        drifts = {label: hidden(path) - base for label, path in runs.items()}
        basis, explained = shared_basis(list(drifts.values()))
        stats = {label: {**dispersion(d, base),
                         "per_language": {lang: float(np.linalg.norm(d[[i for i, l in enumerate(langs) if l == lang]], axis=1).mean())
                                          for lang in dict.fromkeys(langs)}}
                 for label, d in drifts.items()}
        path = plots.drift_scatter(
            context.plot_path("drift.png"), f"Drift from {_short(context.base_model)} ({len(problems)} problems)",
            {label: d @ basis.T for label, d in drifts.items()}, langs,
            (f"PC1 ({explained[0]:.0%} of drift)", f"PC2 ({explained[1]:.0%} of drift)"),
        )
        table = [{"run": label, **{k: row[k] for k in ("mean_norm", "relative_norm", "spread", "total_variance",
                                                         "coherence")}} for label, row in stats.items()]
        return {
            "definition": "d = h_trained - h_base per problem (final layer, mean-pooled over prompt tokens); "
                          "spread = mean ||d - centroid||; coherence = ||centroid|| / mean ||d||",
            "base_model": context.base_model, "models": runs, "problems": len(problems),
            "explained_by_2d": [float(e) for e in explained], "per_run": stats, "table": table,
            "plots": [context.relative(path)],
        }


def shared_basis(drifts: list[np.ndarray], dims: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """(dims x hidden) orthonormal basis of the stacked drift vectors (uncentered SVD) and the
    share of the total squared drift each direction carries. All-zero drift gives the first
    coordinate axes and zero shares."""
    stacked = np.concatenate(drifts)
    hidden_size = stacked.shape[1]
    total = float((stacked ** 2).sum())
    if total == 0.0:
        return np.eye(dims, hidden_size), np.zeros(dims)
    _, singular, vt = np.linalg.svd(stacked, full_matrices=False)
    basis = np.zeros((dims, hidden_size))
    shares = np.zeros(dims)
    found = min(dims, len(singular))
    basis[:found] = vt[:found]
    shares[:found] = singular[:found] ** 2 / total
    return basis, shares


def dispersion(drift: np.ndarray, base: np.ndarray) -> dict[str, float]:
    norms = np.linalg.norm(drift, axis=1)
    centroid = drift.mean(axis=0)
    distances = np.linalg.norm(drift - centroid, axis=1)
    mean_norm = float(norms.mean())
    return {
        "mean_norm": mean_norm,
        "relative_norm": float((norms / np.maximum(np.linalg.norm(base, axis=1), 1e-12)).mean()),
        "centroid_norm": float(np.linalg.norm(centroid)),
        "spread": float(distances.mean()),
        "total_variance": float((distances ** 2).mean()),
        "coherence": float(np.linalg.norm(centroid) / mean_norm) if mean_norm > 0 else 0.0,
    }


def _short(path: str) -> str:
    return path.rstrip("/").rsplit("/", 1)[-1]
