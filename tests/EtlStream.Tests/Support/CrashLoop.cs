using System.Diagnostics;

namespace EtlStream.Tests.Support;

/// <summary>Starts the CLI again and again and kills it with SIGKILL at random moments: no finally block, flush or rollback runs.</summary>
internal static class CrashLoop
{
    /// <summary>
    /// Runs <c>etlstream <paramref name="args"/></c> <paramref name="iterations"/> times, each killed after a random
    /// delay in [<paramref name="minDelayMs"/>, <paramref name="maxDelayMs"/>) unless it finished first, then calls
    /// <paramref name="afterEach"/>. Returns how many runs were killed before they finished, and what the runs that
    /// ended by themselves said (exit code and output), for the failure message when too few were killed.
    /// </summary>
    public static async Task<(int Killed, IReadOnlyList<string> Failures)> KillRepeatedlyAsync(string workingDirectory, string[] args, int iterations, int seed, int minDelayMs, int maxDelayMs, Func<Task> afterEach)
    {
        // perf/crash-soak.sh runs the crash tests longer and with other seeds through these two variables.
        iterations = int.TryParse(Environment.GetEnvironmentVariable("ETLSTREAM_CRASH_ITERATIONS"), out var more) ? more : iterations;
        seed = int.TryParse(Environment.GetEnvironmentVariable("ETLSTREAM_CRASH_SEED"), out var other) ? other : seed;
        var random = new Random(seed);
        var killed = 0;
        var failures = new List<string>();
        for (var i = 0; i < iterations; i++)
        {
            var stderr = new System.Text.StringBuilder();
            using var process = Start(workingDirectory, args, stderr);
            await Task.Delay(random.Next(minDelayMs, maxDelayMs));
            var wasKilled = !process.HasExited;
            if (wasKilled)
            {
                process.Kill(entireProcessTree: true);
                killed++;
            }

            await process.WaitForExitAsync();
            if (!wasKilled)
            {
                lock (stderr)
                {
                    failures.Add($"run {i + 1}: exit {process.ExitCode}: {stderr}");
                }
            }

            await afterEach();
        }

        return (killed, failures);
    }

    private static Process Start(string workingDirectory, string[] args, System.Text.StringBuilder stderr)
    {
        var process = Process.Start(CliProcess.StartInfo(workingDirectory, args))!;
        process.OutputDataReceived += (_, e) =>
        {
            lock (stderr)
            {
                stderr.AppendLine(e.Data);
            }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            lock (stderr)
            {
                stderr.AppendLine(e.Data);
            }
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }
}
