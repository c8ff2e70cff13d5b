FROM python:3.11-slim
WORKDIR /app
# Dependencies from uv.lock, every file checked against its hash; then the project itself.
COPY scripts/uv-requirements.txt scripts/uv-requirements.txt
RUN pip install --no-cache-dir --require-hashes -r scripts/uv-requirements.txt
COPY pyproject.toml uv.lock README.md ./
RUN uv export --frozen --no-emit-project --format requirements-txt -o /tmp/requirements.txt \
    && uv pip install --system --no-cache --require-hashes -r /tmp/requirements.txt
COPY dispatch dispatch
COPY geo geo
COPY agencies agencies
COPY api api
COPY migrations migrations
COPY console console
RUN uv pip install --system --no-cache --no-deps .
EXPOSE 8112
CMD ["sh", "-c", "dispatch db upgrade && dispatch demo load && dispatch serve --host 0.0.0.0 --port 8112"]
