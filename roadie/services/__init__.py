"""The platform's services as the toolkit reaches them: the registry the roles publish on each
host (`registry`), and one typed client per service over it (Patroni, etcd, Redis/Sentinel,
RabbitMQ, HAProxy stats)."""
