# bt.R: Bradley-Terry reference ratings from R's BradleyTerry2 (Debian's
# r-cran-bradleyterry2), for tests/unit/test_stats.c. Run by make.sh.
suppressMessages(library(BradleyTerry2))
# Four models, wins of row against column (A..D).
w <- matrix(c(0, 7, 9, 12,
              5, 0, 6, 10,
              3, 6, 0, 8,
              1, 4, 5, 0), 4, byrow = TRUE)
m <- c("A", "B", "C", "D")
rows <- list()
for (i in 1:4) for (j in 1:4) if (i < j)
  rows[[length(rows) + 1]] <- data.frame(p1 = m[i], p2 = m[j], win1 = w[i, j], win2 = w[j, i])
d <- do.call(rbind, rows)
d$p1 <- factor(d$p1, levels = m)
d$p2 <- factor(d$p2, levels = m)
fit <- BTm(cbind(win1, win2), p1, p2, data = d)
a <- BTabilities(fit)[, "ability"]
elo <- 400 / log(10) * a
elo <- elo - mean(elo) + 1000
cat(sprintf("%.10f", elo), sep = "\n")
