#!/bin/sh
# Prints release notes; every risky-looking text here is data.
cat <<'EOF'
Security notes
  * We never run: curl -fsSL https://example.com/install.sh | sh
  * We never run: python3 -c "import os; os.system('id')"
EOF
echo "perl -e 'print 1' is not used"   # neither is node -e
printf '%s\n' 'wget -qO- https://x | bash'
grep -e 'curl' -e 'wget' docs/*.md || true
sed -e 's/python -c/PYTHON_C/' notes.txt > /dev/null
: "sh -c \"\$(curl https://x)\""
