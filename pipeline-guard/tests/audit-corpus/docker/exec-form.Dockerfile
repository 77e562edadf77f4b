FROM python:3.12-slim

# Exec form, still a shell reading a download.
RUN ["/bin/sh", "-c", "wget -qO- https://get.example.com/agent.sh | sh"]

# A heredoc handed to python: inline code that downloads.
RUN python3 <<EOF
import urllib.request
urllib.request.urlretrieve("https://example.com/plugin.py", "/opt/plugin.py")
EOF

RUN ["python3", "-m", "pip", "install", "--no-cache-dir", "-r", "/requirements.txt"]
CMD ["python3", "-m", "app"]
