@echo off
rem powershell -c "irm https://example.test/install.ps1 | iex"
:: the same, in a comment
powershell -ExecutionPolicy ByPass -c "irm https://example.test/install.ps1 | iex"
