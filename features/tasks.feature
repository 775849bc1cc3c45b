Feature: Tasks
  In order to keep track of what I have to do
  As a logged-in user
  I want to create, list, read, change and delete my own tasks, and nobody else's

  Background:
    Given Ada has logged in

  Scenario: She creates a task
    When she creates a task
    Then her task is created

  Scenario: A title is trimmed of surrounding whitespace
    When she creates a task titled "  Buy oat milk  "
    Then her task is created
    And its title is "Buy oat milk"

  Scenario Outline: A task at the limits of its fields is accepted
    When she creates a task with <shape>
    Then her task is created

    Examples: Shortest title
      | shape                  |
      | a title of 1 character |

    Examples: Longest fields
      | shape                            |
      | a title of 200 characters        |
      | a description of 2000 characters |

  Scenario: Her tasks are listed newest first
    Given she has 3 tasks
    When she lists her tasks
    Then she sees her tasks, newest first

  Scenario Outline: Paging through her tasks shows each of them once
    Given she has 5 tasks
    When she pages through her tasks <limit> at a time
    Then she sees each of her tasks exactly once, newest first
    And every page but the last is full

    Examples: Page sizes
      | limit |
      | 1     |
      | 2     |
      | 5     |
      | 100   |

  Scenario Outline: She lists only her completed or only her open tasks
    Given she has 3 open and 3 completed tasks
    When she pages through her <kind> tasks 2 at a time
    Then she sees each of her <kind> tasks exactly once, newest first

    Examples: Completion
      | kind      |
      | completed |
      | open      |

  Scenario: She reads one of her tasks
    Given she has a task
    When she reads her task
    Then she sees her task

  Scenario: Replacing a task sets every field, the omitted ones to their defaults
    Given she has a completed task
    When she replaces her task with one that has only a new title
    Then her task has the new title, no description, and is not completed
    And it keeps its id and its creation time

  Scenario Outline: Changing a task changes only the fields she sends
    Given she has a completed task
    When she changes only the <field> of her task
    Then the <field> of her task is changed
    And the rest of her task is as it was

    Examples: One field at a time
      | field           |
      | title           |
      | description     |
      | completed state |

  Scenario: A deleted task is gone
    Given she has a task
    When she deletes her task
    Then her task is deleted
    And her task can no longer be read
    And it is no longer in her list

  Scenario: Another user's tasks are not in her list
    Given Ada has a task
    And Bea has logged in
    And Bea has 2 tasks
    When Ada lists her tasks
    Then she sees her own tasks and none of Bea's

  Scenario Outline: Another user's task answers exactly like a missing one, and stays as it was
    Given Bea has logged in
    And Bea has a task
    When Ada <operation> Bea's task
    Then the answer is the same as for a task that does not exist
    And Bea's task is as it was

    Examples: Every operation on one task
      | operation |
      | reads     |
      | replaces  |
      | changes   |
      | deletes   |

  Scenario Outline: Her tasks stay closed to a missing or invalid token
    Given she has a task
    But her requests carry <credential>
    When she <operation>
    Then her request is refused as unauthenticated

    Examples: Missing
      | credential | operation         |
      | no token   | creates a task    |
      | no token   | lists her tasks   |
      | no token   | reads her task    |
      | no token   | replaces her task |
      | no token   | changes her task  |
      | no token   | deletes her task  |

    Examples: Malformed
      | credential                   | operation         |
      | a string that is not a token | creates a task    |
      | a string that is not a token | lists her tasks   |
      | a string that is not a token | reads her task    |
      | a string that is not a token | replaces her task |
      | a string that is not a token | changes her task  |
      | a string that is not a token | deletes her task  |
      | her access token cut short   | creates a task    |
      | her access token cut short   | lists her tasks   |
      | her access token cut short   | reads her task    |
      | her access token cut short   | replaces her task |
      | her access token cut short   | changes her task  |
      | her access token cut short   | deletes her task  |

    @minted
    Examples: Expired
      | credential              | operation         |
      | an expired access token | creates a task    |
      | an expired access token | lists her tasks   |
      | an expired access token | reads her task    |
      | an expired access token | replaces her task |
      | an expired access token | changes her task  |
      | an expired access token | deletes her task  |

    Examples: A refresh token in place of an access token
      | credential        | operation         |
      | her refresh token | creates a task    |
      | her refresh token | lists her tasks   |
      | her refresh token | reads her task    |
      | her refresh token | replaces her task |
      | her refresh token | changes her task  |
      | her refresh token | deletes her task  |

    Examples: Revoked by logging out
      | credential                                           | operation         |
      | her access token from a session she has logged out of | creates a task    |
      | her access token from a session she has logged out of | lists her tasks   |
      | her access token from a session she has logged out of | reads her task    |
      | her access token from a session she has logged out of | replaces her task |
      | her access token from a session she has logged out of | changes her task  |
      | her access token from a session she has logged out of | deletes her task  |

  Scenario Outline: An invalid task is refused, naming the field
    Given she has a task
    When she <operation> with <flaw>
    Then the task is refused as invalid, naming the <field>
    And her tasks are as they were

    Examples: Blank title
      | operation         | flaw          | field |
      | creates a task    | a blank title | title |
      | replaces her task | a blank title | title |
      | changes her task  | a blank title | title |

    Examples: Missing title
      | operation         | flaw     | field |
      | creates a task    | no title | title |
      | replaces her task | no title | title |

    Examples: Too long
      | operation         | flaw                             | field       |
      | creates a task    | a title of 201 characters        | title       |
      | replaces her task | a title of 201 characters        | title       |
      | changes her task  | a title of 201 characters        | title       |
      | creates a task    | a description of 2001 characters | description |
      | replaces her task | a description of 2001 characters | description |
      | changes her task  | a description of 2001 characters | description |

    Examples: Unknown fields
      | operation         | flaw                        | field      |
      | creates a task    | an unknown field colour     | colour     |
      | replaces her task | an unknown field colour     | colour     |
      | changes her task  | an unknown field colour     | colour     |
      | creates a task    | an unknown field user_id    | user_id    |
      | replaces her task | an unknown field id         | id         |
      | changes her task  | an unknown field created_at | created_at |
