using System.CommandLine;
using EtlStream.Tenancy;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;

namespace EtlStream.Cli.Commands;

/// <summary>
/// Logging for every command. Silence is success: the console (stderr) shows warnings and errors; milestones
/// join them with <c>--verbose</c>, and <c>--log-format json</c> writes them all as JSON lines for machines.
/// A tenant run also logs everything to its file. Every line is redacted of secrets.
/// </summary>
internal static class CliLogging
{
    public static readonly Option<string> Format = new Option<string>("--log-format") { Description = "text or json (JSON lines on stderr, milestones included).", DefaultValueFactory = _ => "text", Recursive = true }.AcceptOnlyFromAmong("text", "json");

    public static readonly Option<bool> Verbose = new("--verbose") { Description = "Milestones on stderr too, not only warnings and errors.", Recursive = true };

    public static ILoggerFactory Create(ParseResult parse, TenantLogFile? file = null)
    {
        var json = parse.GetValue(Format) == "json";
        var level = json || parse.GetValue(Verbose) ? LogLevel.Information : LogLevel.Warning;
        return LoggerFactory.Create(builder =>
        {
            builder.SetMinimumLevel(LogLevel.Information);
            builder.AddFilter<ConsoleLoggerProvider>(null, level);
            builder.AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
            if (json)
            {
                builder.AddJsonConsole(o => o.IncludeScopes = false);
            }
            else
            {
                builder.AddSimpleConsole(o => o.SingleLine = true);
            }

            if (file is not null)
            {
                builder.AddProvider(file);
            }
        });
    }
}

/// <summary>A tenant's log file for one run, <c>logs/&lt;tenant&gt;/&lt;date&gt;-&lt;job&gt;.log</c>: every message, redacted.</summary>
internal sealed class TenantLogFile : ILoggerProvider
{
    private readonly StreamWriter _writer;

    private TenantLogFile(StreamWriter writer) => _writer = writer;

    public static TenantLogFile Open(string root, string tenant, string name)
    {
        var folder = Path.Combine(root, tenant);
        Directory.CreateDirectory(folder);
        return new TenantLogFile(new StreamWriter(Path.Combine(folder, name + ".log"), append: true) { AutoFlush = true });
    }

    public void Write(string line)
    {
        lock (_writer)
        {
            _writer.WriteLine($"{DateTime.UtcNow:yyyy-MM-ddTHH:mm:ssZ} {Secrets.Redact(line.TrimEnd())}");
        }
    }

    public ILogger CreateLogger(string categoryName) => new FileLogger(this);

    public void Dispose() => _writer.Dispose();

    private sealed class FileLogger(TenantLogFile file) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel))
            {
                file.Write(logLevel >= LogLevel.Warning ? $"{logLevel.ToString().ToLowerInvariant()}: {formatter(state, exception)}" : formatter(state, exception));
            }
        }
    }
}
