using System.Diagnostics;

namespace EtlStream.Tests.Support;

/// <summary>The built <c>etlstream</c> CLI run as a separate process, as cron or Airflow runs it.</summary>
internal static class CliProcess
{
    /// <param name="environment">Variables to set, or (value null) to remove, for the child only.</param>
    public static ProcessStartInfo StartInfo(string workingDirectory, IEnumerable<string> args, IReadOnlyDictionary<string, string?>? environment = null)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var (key, value) in environment ?? new Dictionary<string, string?>())
        {
            if (value is null)
            {
                start.Environment.Remove(key);
            }
            else
            {
                start.Environment[key] = value;
            }
        }

        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "EtlStream.Cli.dll"));
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }

        return start;
    }

    /// <summary>Runs the CLI to its end (at most 3 minutes): exit code, stdout, stderr.</summary>
    public static async Task<(int ExitCode, string Out, string Err)> RunAsync(string workingDirectory, IReadOnlyDictionary<string, string?>? environment, params string[] args)
    {
        using var process = Process.Start(StartInfo(workingDirectory, args, environment))!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(3));
        return (process.ExitCode, await stdout, await stderr);
    }
}
