function Invoke-DownloadWithRetry {
    <#
    .SYNOPSIS
        Downloads a file. Invoke-WebRequest | iex is never used here.
    #>
    param(
        [string] $Url,
        [string] $Path
    )
    Invoke-WebRequest -Uri $Url -OutFile $Path -UseBasicParsing
    return $Path
}

function Test-FileChecksum {
    param([string] $Path, [string] $ExpectedSHA256Sum)
    $fileHash = (Get-FileHash -Path $Path -Algorithm SHA256).Hash
    if ($fileHash -ne $ExpectedSHA256Sum) {
        throw "Checksum verification failed"
    }
}
