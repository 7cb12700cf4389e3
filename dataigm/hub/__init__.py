"""The Hugging Face Hub side: loading releases, publishing them and judges, and the structure checks both rely on."""
