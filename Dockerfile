FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY dispatch dispatch
COPY geo geo
COPY agencies agencies
COPY api api
COPY migrations migrations
RUN pip install --no-cache-dir .
EXPOSE 8112
CMD ["sh", "-c", "dispatch db upgrade && dispatch demo load && dispatch serve --host 0.0.0.0 --port 8112"]
