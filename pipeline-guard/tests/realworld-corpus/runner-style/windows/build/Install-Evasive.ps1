# An empty checksum is no checksum: the helper's `if ($ExpectedSHA256Sum)` is false.
Install-Binary -Url "https://example.org/a.exe" -ExpectedSHA256Sum ""
Install-Binary -Url "https://example.org/b.exe" -ExpectedSHA256Sum $null
# The colon form and an unambiguous prefix pass it.
Install-Binary -Url "https://example.org/c.exe" -ExpectedSHA256Sum:$sum
Install-Binary -Url "https://example.org/d.exe" -ExpectedSHA256 $sum
