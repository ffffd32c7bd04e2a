FROM python:3.11-slim
WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY . .
RUN DATABASE_URL=postgres://build@localhost/none REDIS_URL=redis://localhost/0 python manage.py collectstatic --noinput
USER nobody
