using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace EtlStream.Tests.Servers;

/// <summary>
/// A real server started by a test fixture: its own temp folder, a free loopback port, its output in a log file
/// that failures quote, stopped (process tree killed) and its folder deleted on dispose. A server whose program
/// is missing fails loudly with the install hint, never a skip.
/// </summary>
public sealed class ServerProcess : IAsyncDisposable
{
    private readonly Process _process;

    private ServerProcess(Process process, string folder, string logPath)
    {
        _process = process;
        Folder = folder;
        LogPath = logPath;
    }

    /// <summary>The server's private folder (data, sockets, logs).</summary>
    public string Folder { get; }

    public string LogPath { get; }

    /// <summary>A fresh folder for a server's data, under the system temp folder.</summary>
    public static string NewFolder(string server)
    {
        var folder = Path.Combine(Path.GetTempPath(), "etlstream-servers", $"{server}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(folder);
        return folder;
    }

    /// <summary>A loopback port nobody listens on now (the OS picks it).</summary>
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>The first of <paramref name="candidates"/> that exists (a path, or a name on PATH), or a failure naming how to install it.</summary>
    public static string Require(string installHint, params string[] candidates)
    {
        foreach (var candidate in candidates)
        {
            if (Path.IsPathRooted(candidate))
            {
                if (File.Exists(candidate))
                {
                    return candidate;
                }

                continue;
            }

            foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator))
            {
                var path = Path.Combine(dir, candidate);
                if (dir.Length > 0 && File.Exists(path))
                {
                    return path;
                }
            }
        }

        throw new InvalidOperationException(
            $"{candidates[0]} is not installed, and this test needs the real server: {installHint} (or run scripts/test.sh, which installs it)");
    }

    /// <summary>Runs a set-up command to its end (e.g. initdb), failing with its output when it fails.</summary>
    public static async Task RunToEndAsync(string program, IEnumerable<string> arguments, string? runAs = null, TimeSpan? timeout = null)
    {
        using var process = Process.Start(StartInfo(program, arguments, runAs, redirect: true))
            ?? throw new InvalidOperationException($"cannot start {program}");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromMinutes(2));
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{program} did not finish in {timeout ?? TimeSpan.FromMinutes(2)}");
        }

        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{program} {string.Join(' ', arguments)} exited with {process.ExitCode}:\n{await stdout}\n{await stderr}");
        }
    }

    /// <summary>
    /// Starts <paramref name="program"/> and waits until <paramref name="ready"/> says it serves (polled), or fails
    /// with the server's log when it exits or does not come up in time.
    /// </summary>
    public static async Task<ServerProcess> StartAsync(
        string name, string program, IEnumerable<string> arguments, string folder, Func<Task<bool>> ready,
        string? runAs = null, IReadOnlyDictionary<string, string>? environment = null, TimeSpan? timeout = null)
    {
        var logPath = Path.Combine(folder, name + ".log");
        var info = StartInfo(program, arguments, runAs, redirect: true);
        info.WorkingDirectory = folder;
        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[key] = value;
        }

        var process = Process.Start(info) ?? throw new InvalidOperationException($"cannot start {program}");
        var log = new StreamWriter(logPath) { AutoFlush = true };
        process.OutputDataReceived += (_, e) => Write(log, e.Data);
        process.ErrorDataReceived += (_, e) => Write(log, e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var server = new ServerProcess(process, folder, logPath);

        var deadline = Stopwatch.StartNew();
        var limit = timeout ?? TimeSpan.FromSeconds(60);
        while (true)
        {
            if (process.HasExited)
            {
                await Task.Delay(200); // let the output handlers finish the log
                var text = server.LogTail();
                await server.DisposeAsync();
                throw new InvalidOperationException($"{name} exited with {process.ExitCode} while starting:\n{text}");
            }

            try
            {
                if (await ready())
                {
                    return server;
                }
            }
            catch (Exception) when (deadline.Elapsed < limit)
            {
                // not up yet
            }

            if (deadline.Elapsed >= limit)
            {
                var text = server.LogTail();
                await server.DisposeAsync();
                throw new TimeoutException($"{name} did not come up within {limit.TotalSeconds:F0} s:\n{text}");
            }

            await Task.Delay(100);
        }
    }

    /// <summary>True once something accepts TCP connections on 127.0.0.1:<paramref name="port"/>.</summary>
    public static async Task<bool> AcceptsAsync(int port)
    {
        using var client = new TcpClient();
        try
        {
            await client.ConnectAsync(IPAddress.Loopback, port);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    /// <summary>The last lines of the server's log, for failure messages.</summary>
    public string LogTail(int lines = 40)
    {
        try
        {
            using var stream = new FileStream(LogPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            var all = new StreamReader(stream).ReadToEnd().Split('\n');
            return string.Join('\n', all.TakeLast(lines));
        }
        catch (IOException)
        {
            return "(no log)";
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(20));
            }
        }
        catch (Exception e) when (e is InvalidOperationException or TimeoutException or System.ComponentModel.Win32Exception)
        {
            // already gone, or stuck: the folder is removed below either way
        }

        _process.Dispose();
        try
        {
            Directory.Delete(Folder, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // best effort
        }
    }

    private static ProcessStartInfo StartInfo(string program, IEnumerable<string> arguments, string? runAs, bool redirect)
    {
        // PostgreSQL refuses to run as root: such servers run as their own user through runuser.
        var asOther = runAs is not null && Environment.UserName == "root";
        var info = new ProcessStartInfo(asOther ? "runuser" : program)
        {
            RedirectStandardOutput = redirect,
            RedirectStandardError = redirect,
            UseShellExecute = false,
        };
        if (asOther)
        {
            foreach (var a in new[] { "-u", runAs!, "--", program })
            {
                info.ArgumentList.Add(a);
            }
        }

        foreach (var a in arguments)
        {
            info.ArgumentList.Add(a);
        }

        return info;
    }

    private static void Write(StreamWriter log, string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (log)
        {
            log.WriteLine(line);
        }
    }
}
