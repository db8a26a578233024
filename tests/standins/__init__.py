"""Local HTTP stand-ins for APIs the test bed cannot run for real (Redpanda Admin API, Redpanda
Cloud, DigitalOcean API v2). They are small real HTTP servers on 127.0.0.1 that keep state and
follow the published endpoints; they are not those services and do not pretend to be complete."""
