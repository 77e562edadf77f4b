# Pinned by hash: verified.
Install-Binary `
    -Url "https://example.org/tool-1.2.exe" `
    -InstallArgs @(`
        "/VERYSILENT", `
        "/NORESTART") `
    -ExpectedSHA256Sum "0f343b0931126a20f133d67c2b018a3b"

# Signed by a pinned subject: verified.
Install-Binary `
    -Url "https://example.org/agent.exe" `
    -InstallArgs ("/silent", "/install") `
    -ExpectedSubject 'CN="Example, Inc.", O="Example, Inc.", C=US'

# Neither: the helper runs what it downloaded unchecked.
Install-Binary -Url "https://aka.example/emulator.msi" -InstallArgs @('/quiet')
