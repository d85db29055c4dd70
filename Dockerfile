# The ledger's image: ledgerctl and its dependencies, nothing else.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY ledger ./ledger
COPY api ./api
COPY cli ./cli
COPY projections ./projections
COPY evidence ./evidence
COPY bench ./bench
COPY demo ./demo
RUN pip install --no-cache-dir .
RUN useradd --system --home /data ledger && mkdir -p /data && chown ledger /data
USER ledger
VOLUME ["/data"]
EXPOSE 8000
CMD ["ledgerctl", "serve", "--data-dir", "/data", "--host", "0.0.0.0", "--port", "8000"]
