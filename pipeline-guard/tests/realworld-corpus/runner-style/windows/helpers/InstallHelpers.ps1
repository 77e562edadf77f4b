function Install-Binary {
    <#
    .SYNOPSIS
        Downloads an installer and runs it; checks it only when asked to.
    #>
    Param (
        [String] $Url,
        [String[]] $InstallArgs,
        [String] $ExpectedSubject,
        [String] $ExpectedSHA256Sum
    )
    $filePath = Get-WithRetry -Url $Url -Path "${env:TEMP}\setup.exe"
    if ($PSBoundParameters.ContainsKey('ExpectedSubject')) {
        Test-Signature -Path $filePath -ExpectedSubject $ExpectedSubject
    }
    if ($ExpectedSHA256Sum) {
        Test-Sha256 $filePath -ExpectedSHA256Sum $ExpectedSHA256Sum
    }
    $process = Start-Process -FilePath $filePath -ArgumentList $InstallArgs -Wait -PassThru
    exit $process.ExitCode
}

function Get-WithRetry {
    param ([string] $Url, [string] $Path)
    for ($i = 0; $i -lt 5; $i++) {
        try {
            Invoke-WebRequest -Uri $Url -OutFile $Path -UseBasicParsing
            break
        } catch { Start-Sleep -Seconds 10 }
    }
    return $Path
}

function Test-Sha256 {
    param ([string] $Path, [string] $ExpectedSHA256Sum)
    $actual = (Get-FileHash -Path $Path -Algorithm SHA256).Hash
    if ($actual -ne $ExpectedSHA256Sum) { throw "checksum mismatch for $Path" }
}

function Test-Signature {
    param ([string] $Path, [string] $ExpectedSubject)
    $sig = Get-AuthenticodeSignature $Path
    if ($sig.Status -ne "Valid" -or $sig.SignerCertificate.Subject -ne $ExpectedSubject) {
        throw "bad signature on $Path"
    }
}

Export-ModuleMember -Function @(
    'Install-Binary'
    'Get-WithRetry'
)

function Expand-With7Zip {
    Param (
        [string] $Path,
        [string] $DestinationPath,
        [char] $Method = "x"
    )
    7z.exe $Method "$Path" -o"$DestinationPath" -y | Out-Null
    if ($LASTEXITCODE -ne 0) { exit 1 }
}
