"""Preview environments: a short-lived stack `pr-<number>` per pull request labelled `preview`.

- `derive`: the stack's config, staging's with stacks/preview.yaml on top (no secret of
  staging's), hostnames and CORS origins following the stack's name;
- `comment`: the one PR comment with the preview's URLs, its per-day cost and the smoke checks;
- `expiry`: which preview stacks the scheduled clean-up destroys;
- `__main__`: `python -m tools.preview config|policy-config|comment|expired`, what
  .github/workflows/preview-env.yml runs (docs/previews.md).
"""
