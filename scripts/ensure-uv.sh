# Sourced by the other scripts: puts uv on PATH, installing it from PyPI when it is missing.
if ! command -v uv >/dev/null 2>&1; then
  export PATH="$HOME/.local/bin:$PATH"
  if ! command -v uv >/dev/null 2>&1; then
    echo "uv not found: installing it with pip" >&2
    python3 -m pip install --quiet --user uv 2>/dev/null \
      || python3 -m pip install --quiet --user --break-system-packages uv 2>/dev/null \
      || { python3 -m venv "$HOME/.local/uv-venv" && "$HOME/.local/uv-venv/bin/pip" install --quiet uv \
           && mkdir -p "$HOME/.local/bin" && ln -sf "$HOME/.local/uv-venv/bin/uv" "$HOME/.local/bin/uv"; } \
      || { echo "could not install uv: install it (https://docs.astral.sh/uv/) and rerun" >&2; exit 1; }
  fi
fi
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1
# Compiled bytecode for the environment, and allowed for the project's own modules: where
# PYTHONDONTWRITEBYTECODE is set, every process would otherwise compile torch & co from source.
unset PYTHONDONTWRITEBYTECODE
uv sync --frozen --quiet --all-extras --compile-bytecode
