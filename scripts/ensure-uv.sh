# Sourced by the other scripts: puts uv on PATH, installing it from PyPI when it is missing.
if ! command -v uv >/dev/null 2>&1; then
  export PATH="$HOME/.local/bin:$PATH"
  if ! command -v uv >/dev/null 2>&1; then
    echo "uv not found: installing it with pip" >&2
    python3 -m pip install --quiet --user uv 2>/dev/null || python3 -m pip install --quiet uv
  fi
fi
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1
# Compiled bytecode for the environment, and allowed for the project's own modules: where
# PYTHONDONTWRITEBYTECODE is set, every process would otherwise compile torch & co from source.
unset PYTHONDONTWRITEBYTECODE
uv sync --frozen --quiet --all-extras --compile-bytecode
