FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY pyproject.toml ./
COPY landscape ./landscape
COPY projects ./projects
COPY api ./api
COPY ops ./ops
RUN pip install --no-cache-dir .
COPY . .
RUN useradd --create-home app && mkdir -p /app/var /data/media && chown -R app /app/var /data/media
USER app
EXPOSE 8000
